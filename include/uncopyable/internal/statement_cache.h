// uncopyable/internal/statement_cache.h: a connection's prepared statements,
// kept by their SQL text, the least recently used one first to go.
//
// Both connections keep one (SqliteConnection's sqlite3_stmt*s,
// PostgresConnection's server-side statements), sized by their config's
// statement_cache_size, so that a program that holds SQL text (data), not
// statement handles (resources), prepares each text once per connection:
//
//   StatementCache<CachedTraits> statements_{config_.statement_cache_size};
//   if (Entry* hit = statements_.find(sql)) ...           // most recent now
//   Entry* kept = statements_.add(sql, std::move(made));  // prepared on a miss
//   statements_.trim([&](UniqueHandle<CachedTraits>& evicted) { ... });
//
// Each statement is owned by its entry (a UniqueHandle), not borrowed from
// the connection: the cache is a member of the connection and moves with
// it. An entry whose handle is empty is lent out (a SQLite statement in use
// by a query, whose Statement owns it meanwhile): it is never evicted, and
// find() does not hand it out twice, so that a query that re-enters the same
// SQL (for_each's fn running it) gets a statement of its own rather than one
// reset under its caller. trim() evicts from the least recently used end
// until the cache holds at most its capacity, skipping lent entries; the
// connection decides what an eviction does (SQLite finalizes, PostgreSQL
// queues a DEALLOCATE) through the function it passes. A capacity of 0 keeps
// nothing: find() finds nothing and add() adds nothing.
//
// Not thread-safe: the connection orders the calls (its single-user rule,
// or SQLite's connection mutex on a connection threads share).
#ifndef UNCOPYABLE_INTERNAL_STATEMENT_CACHE_H_
#define UNCOPYABLE_INTERNAL_STATEMENT_CACHE_H_

#include <cstddef>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "uncopyable/unique_handle.h"

namespace uncopyable::internal {

// The largest statement_cache_size a config takes.
inline constexpr int kMaxStatementCacheSize = 10000;

// What an entry knows of its statement besides the handle: nothing, unless
// the connection needs more (PostgreSQL: the parameter types it was
// prepared with).
struct NoStatementInfo {};

template <HandleTraits Traits, typename Info = NoStatementInfo>
class StatementCache {
 public:
  using Handle = UniqueHandle<Traits>;
  struct Entry {
    std::string sql;     // the key (moved out while lent, if the borrower wants it)
    Handle statement;    // empty while lent out
    Info info{};
    bool lent() const { return !statement.is_valid(); }
  };

  explicit StatementCache(size_t capacity = 0) : capacity_(capacity) {}
  StatementCache(StatementCache&&) noexcept = default;
  // The statements assigned over are closed (their traits' close()).
  StatementCache& operator=(StatementCache&&) noexcept = default;
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;
  ~StatementCache() = default;

  size_t capacity() const { return capacity_; }
  // Entries kept, lent ones included (more than the capacity only while
  // lent entries fill it).
  size_t size() const { return entries_.size(); }

  // The entry for `sql`, now the most recently used, unless there is none
  // or it is lent out (then nullptr).
  Entry* find(absl::string_view sql) {
    if (index_.empty()) return nullptr;
    const auto found = index_.find(sql);
    if (found == index_.end() || found->second->lent()) return nullptr;
    entries_.splice(entries_.begin(), entries_, found->second);
    return &*found->second;
  }

  // A new most recent entry for `sql` holding `statement` (empty: lent out
  // from the start, filled when given back), or nullptr when the cache is
  // off or `sql` has an entry already (lent out): the caller then keeps
  // `statement`. Call trim() afterwards.
  Entry* add(absl::string_view sql, Handle&& statement, Info info = {}) {
    if (capacity_ == 0 || index_.contains(sql)) return nullptr;
    entries_.push_front(Entry{std::string(sql), std::move(statement), std::move(info)});
    index_.emplace(std::string(sql), entries_.begin());
    return &entries_.front();
  }

  // Evicts the least recently used entries that are not lent out until at
  // most capacity() are kept: evict(Handle&) is called with each one's
  // statement (what it leaves in the handle is closed by the handle).
  template <typename Evict>
  void trim(Evict&& evict) {
    auto at = entries_.end();
    while (entries_.size() > capacity_ && at != entries_.begin()) {
      --at;
      if (at->lent()) continue;
      evict(at->statement);
      at = erase(at);
    }
  }

  // Drops `entry`, as trim() would evict it.
  template <typename Evict>
  void remove(Entry* entry, Evict&& evict) {
    const auto found = index_.find(entry->sql);
    if (found == index_.end()) return;
    evict(found->second->statement);
    erase(found->second);
  }

  // Forgets every entry, closing each statement its handle still holds.
  void clear() {
    index_.clear();
    entries_.clear();
  }

 private:
  using Iterator = typename std::list<Entry>::iterator;
  Iterator erase(Iterator at) {
    index_.erase(at->sql);
    return entries_.erase(at);
  }

  size_t capacity_;
  // Most recently used first. A list, so that an entry stays where it is
  // (the index and a lent statement's borrower point at it).
  std::list<Entry> entries_;
  absl::flat_hash_map<std::string, Iterator> index_;
};

}  // namespace uncopyable::internal

#endif  // UNCOPYABLE_INTERNAL_STATEMENT_CACHE_H_
