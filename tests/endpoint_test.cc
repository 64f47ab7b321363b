#include "uncopyable/endpoint.h"

#include <sstream>

#include "absl/hash/hash_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace uncopyable {
namespace {

using ::testing::HasSubstr;

TEST(EndpointTest, WritesItsUrl) {
  EXPECT_EQ(Endpoint::tcp("127.0.0.1", 8080).to_string(), "tcp://127.0.0.1:8080");
  EXPECT_EQ(Endpoint::tcp("::1", 443).to_string(), "tcp://[::1]:443");
  EXPECT_EQ(Endpoint::tcp("db.internal", 0).to_string(), "tcp://db.internal:0");
  EXPECT_EQ(Endpoint::unix_socket("/run/app.sock").to_string(), "unix:///run/app.sock");
  EXPECT_EQ(Endpoint::unix_socket("rel/app.sock").to_string(), "unix:rel/app.sock");
  EXPECT_EQ(Endpoint::unix_socket("/tmp/a b#1.sock").to_string(), "unix:///tmp/a%20b%231.sock");
  EXPECT_EQ(Endpoint::abstract_unix("app").to_string(), "unix-abstract:app");
  EXPECT_EQ(Endpoint().to_string(), "tcp://localhost:0");
}

TEST(EndpointTest, ReadsWhatItWrites) {
  for (const Endpoint& endpoint :
       {Endpoint::tcp("127.0.0.1", 8080), Endpoint::tcp("::1", 1), Endpoint::tcp("fe80::1:2", 65535),
        Endpoint::tcp("name-with.dots", 22), Endpoint::unix_socket("/tmp/x y%z"),
        Endpoint::unix_socket("//double"), Endpoint::unix_socket("rel:ative"),
        Endpoint::abstract_unix("with/slash")}) {
    absl::StatusOr<Endpoint> back = Endpoint::from_string(endpoint.to_string());
    ASSERT_TRUE(back.ok()) << back.status() << " for " << endpoint;
    EXPECT_EQ(*back, endpoint) << endpoint.to_string();
  }
}

TEST(EndpointTest, BadInputIsNamed) {
  auto error = [](absl::string_view text) {
    return std::string(Endpoint::from_string(text).status().message());
  };
  EXPECT_EQ(error("http://x:1"), "Endpoint: scheme must be tcp, unix or unix-abstract, got \"http\"");
  EXPECT_EQ(error("tcp://:80"), "Endpoint: tcp:// needs a host, as in tcp://127.0.0.1:8080");
  EXPECT_EQ(error("tcp://host"), "Endpoint: tcp:// needs a port, as in tcp://127.0.0.1:8080");
  EXPECT_EQ(error("tcp://host:65536"), "Endpoint: port 65536 is out of range [0, 65535]");
  EXPECT_EQ(error("tcp://host:1/path"), "Endpoint: a tcp:// endpoint has no path");
  EXPECT_EQ(error("tcp://u@host:1"), "Endpoint: user info has no meaning here");
  EXPECT_EQ(error("tcp://host:1?x=1"), "Endpoint: query parameters have no meaning here");
  EXPECT_EQ(error("unix://host/x"),
            "Endpoint: unix: takes a path, not a host: write unix:///path or unix:name");
  EXPECT_EQ(error("unix:"), "Endpoint: the socket path is empty");
  EXPECT_EQ(error("unix:///" + std::string(200, 'a')),
            "Endpoint: the socket path must be at most 107 bytes without NUL, got 201");
  EXPECT_THAT(error("tcp://[::1:80"), HasSubstr("Endpoint: not a valid URL"));
  EXPECT_EQ(error("unix-abstract:a%00b"), "Endpoint: %00 (a NUL byte) is not allowed in a URL");
}

// A NUL would cut a host short for getaddrinfo(3) (127.0.0.1\0evil would
// reach 127.0.0.1); no DNS name is longer than 253 characters. Messages give
// the length, never the text.
TEST(EndpointTest, TcpHostsAreShortAndHoldNoNul) {
  EXPECT_EQ(Endpoint::tcp(std::string("127.0.0.1\0evil", 14), 80).validate().message(),
            "Endpoint: the TCP host must be at most 255 bytes without NUL, got 14");
  EXPECT_EQ(Endpoint::tcp(std::string(256, 'h'), 80).validate().message(),
            "Endpoint: the TCP host must be at most 255 bytes without NUL, got 256");
  EXPECT_TRUE(Endpoint::tcp(std::string(255, 'h'), 80).validate().ok());
  EXPECT_EQ(Endpoint::from_string("tcp://" + std::string(300, 'h') + ":1").status().message(),
            "Endpoint: the TCP host must be at most 255 bytes without NUL, got 300");
}

TEST(EndpointTest, IsARegularValue) {
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      {Endpoint(), Endpoint::tcp("a", 1), Endpoint::tcp("a", 2), Endpoint::unix_socket("a"),
       Endpoint::abstract_unix("a")}));
  std::ostringstream stream;
  stream << Endpoint::tcp("::1", 5);
  EXPECT_EQ(stream.str(), "tcp://[::1]:5");
}

}  // namespace
}  // namespace uncopyable
