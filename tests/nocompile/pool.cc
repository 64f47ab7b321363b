// No-compile cases for the pool: it takes only Rebuildable handles, and a
// lease is not copied. Without a case defined this file must compile (the
// control); each `// nocompile CASE: PATTERN` line is a case (see
// nocompile_test in tests/defs.bzl).
#include "uncopyable/pool.h"

#include <utility>

#include "absl/status/statusor.h"
#include "uncopyable/socket.h"

void control() {
  absl::StatusOr<uncopyable::Pool<uncopyable::Socket>> pool =
      uncopyable::Pool<uncopyable::Socket>::open({});
  if (!pool.ok()) return;
  absl::StatusOr<uncopyable::PoolLease<uncopyable::Socket>> lease = pool->acquire();
  (void)lease;
}

// nocompile POOL_OF_ACCEPTED: template constraint failure for .template<class H>  requires  Rebuildable<H> class uncopyable::Pool.
#if defined(POOL_OF_ACCEPTED)
void pool_of_accepted() {
  // An accepted connection has no config to build another from.
  uncopyable::Pool<uncopyable::Connection>* pool = nullptr;
  (void)pool;
}
#endif

// nocompile COPY_LEASE: use of deleted function .uncopyable::PoolLease<H>::PoolLease\(const uncopyable::PoolLease<H>&\) \[with H = uncopyable::Socket\]
#if defined(COPY_LEASE)
void copy_lease(const uncopyable::PoolLease<uncopyable::Socket>& lease) {
  uncopyable::PoolLease<uncopyable::Socket> copy = lease;  // two holders of one handle
}
#endif

// nocompile COPY_POOL: use of deleted function .uncopyable::Pool<H>::Pool\(const uncopyable::Pool<H>&\) \[with H = uncopyable::Socket\]
#if defined(COPY_POOL)
void copy_pool(const uncopyable::Pool<uncopyable::Socket>& pool) {
  uncopyable::Pool<uncopyable::Socket> copy = pool;
}
#endif
