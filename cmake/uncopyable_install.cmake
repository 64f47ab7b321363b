# install(): headers, libraries, the CMake package (uncopyableConfig.cmake,
# uncopyableConfigVersion.cmake, uncopyableTargets.cmake with the targets
# under uncopyable::) and uncopyable.pc. Included by CMakeLists.txt when
# UNCOPYABLE_INSTALL is on.

include_guard(GLOBAL)

set(UNCOPYABLE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/uncopyable)

get_property(libraries GLOBAL PROPERTY UNCOPYABLE_LIBRARIES)
set(targets ${libraries})
list(TRANSFORM targets PREPEND uncopyable_)
install(TARGETS ${targets}
  EXPORT uncopyableTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/uncopyable-objects
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT uncopyableTargets
  NAMESPACE uncopyable::
  DESTINATION ${UNCOPYABLE_CMAKE_DIR})

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/uncopyableConfig.cmake.in
  ${PROJECT_BINARY_DIR}/uncopyableConfig.cmake
  INSTALL_DESTINATION ${UNCOPYABLE_CMAKE_DIR})
# 0.x: every minor version may break the API (0.5.1 may replace 0.5.0, 0.6.0
# may not), so find_package(uncopyable 0.5) accepts 0.5.x only. From 1.0 on,
# SameMajorVersion is what this should become.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/uncopyableConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/uncopyableConfig.cmake
  ${PROJECT_BINARY_DIR}/uncopyableConfigVersion.cmake
  DESTINATION ${UNCOPYABLE_CMAKE_DIR})

# uncopyable.pc: everything (uncopyable::uncopyable) for pkg-config users.
# The libraries are static by default, so Libs names each of them, the ones
# that need others first (the reverse of their order in CMakeLists.txt), and
# Requires (not Requires.private) names what they need in turn. Test-only
# libraries, the header-only ones and the opt-in fd_ownership_checks are
# not in it.
get_property(testonly GLOBAL PROPERTY UNCOPYABLE_TESTONLY)
set(pc_libs "")
foreach(name IN LISTS libraries)
  get_target_property(type uncopyable_${name} TYPE)
  if(type MATCHES "^(STATIC|SHARED)_LIBRARY$" AND NOT name IN_LIST testonly)
    get_target_property(output uncopyable_${name} OUTPUT_NAME)
    if(NOT output)
      set(output uncopyable_${name})
    endif()
    string(PREPEND pc_libs "-l${output} ")
  endif()
endforeach()
string(STRIP "${pc_libs}" UNCOPYABLE_PC_LIBS)
# Relocatable: the prefix is found from where the .pc file is (pkg-config's
# ${pcfiledir}), so `cmake --install build --prefix P` needs no reconfigure.
set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "uncopyable.pc: CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR "
                      "must be relative to the prefix")
endif()
file(RELATIVE_PATH UNCOPYABLE_PC_PREFIX /root/${pc_dir} /root)
string(REGEX REPLACE "/$" "" UNCOPYABLE_PC_PREFIX "${UNCOPYABLE_PC_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/uncopyable.pc.in
               ${PROJECT_BINARY_DIR}/uncopyable.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/uncopyable.pc
        DESTINATION ${pc_dir})

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/uncopyable)
