# package.cmake — how other builds find an installed rcgc: rcgc.pc for
# pkg-config and a CMake package (find_package(rcgc) gives rcgc::rcgc, the
# shared library, and rcgc::rcgc_static).  Included by the top level after
# the library targets and their install rules.

# rcgc.pc names the prefix it was installed to (`cmake --install --prefix`
# and `make install PREFIX=` choose it then, not at configure time), so it
# is written at install time from a template configured now: everything
# but the prefix.  Libs.private lists what a static link needs: the
# libraries this build found.
set(RCGC_PC_LIBS_PRIVATE "")
foreach(lib ${RCGC_TRACE_LIBS} m)
  if(lib MATCHES "/")
    get_filename_component(lib ${lib} NAME_WE)
    string(REGEX REPLACE "^lib" "" lib ${lib})
  endif()
  string(APPEND RCGC_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
set(RCGC_PC_PREFIX "@RCGC_PC_PREFIX@") # kept for the install-time pass
configure_file(${CMAKE_CURRENT_LIST_DIR}/rcgc.pc.in ${CMAKE_CURRENT_BINARY_DIR}/rcgc.pc.in @ONLY)
install(CODE "
  set(RCGC_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/rcgc.pc.in\" \"${CMAKE_CURRENT_BINARY_DIR}/rcgc.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rcgc.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

include(CMakePackageConfigHelpers)
set(RCGC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rcgc)
install(EXPORT rcgcTargets NAMESPACE rcgc:: DESTINATION ${RCGC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/rcgcConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/rcgcConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/rcgcConfigVersion.cmake DESTINATION ${RCGC_CMAKE_DIR})
