# What the library needs from the system, found the way its installed
# package finds it again (cmake/uncopyableConfig.cmake.in): Abseil and Boost
# through their own CMake packages, SQLite and libpq through CMake's
# FindSQLite3 / FindPostgreSQL (pkg-config when those find nothing).
# On Debian 12: libabsl-dev, libboost1.81-dev, libboost-json1.81-dev,
# libboost-url1.81-dev, libsqlite3-dev, libpq-dev (./bazelw installs them).

include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
# Boost::headers (Describe, MP11, Asio), Boost::json, Boost::url. 1.81 and
# not Debian's default 1.74, which has no Boost.URL.
find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json url)

find_package(SQLite3)
if(NOT TARGET SQLite::SQLite3)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(sqlite3 REQUIRED IMPORTED_TARGET sqlite3)
  add_library(SQLite::SQLite3 ALIAS PkgConfig::sqlite3)
endif()

find_package(PostgreSQL)
if(NOT TARGET PostgreSQL::PostgreSQL)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(libpq REQUIRED IMPORTED_TARGET libpq)
  add_library(PostgreSQL::PostgreSQL ALIAS PkgConfig::libpq)
endif()
