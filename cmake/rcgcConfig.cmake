# rcgcConfig.cmake — find_package(rcgc): the targets rcgc::rcgc (shared
# library) and rcgc::rcgc_static, with include/rcgc.h on their include path.
include(${CMAKE_CURRENT_LIST_DIR}/rcgcTargets.cmake)
