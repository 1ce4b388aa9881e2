# ISA-specific translation units carry their instruction set in their file name, and get
# the matching compiler flags here, so the rest of the binary stays baseline x86-64 and
# runs anywhere (docs/design.md, "Kernels and dispatch").
#   *_avx2.cc        AVX2 + FMA + F16C               (Haswell, Zen 1 and later)
#   *_avx512.cc      AVX-512 F/BW/DQ/VL + FMA + F16C (Skylake-SP, Zen 4)
#   *_avx512vnni.cc  the above + AVX512-VNNI         (Cascade Lake, Zen 4)
#   *_avx512bf16.cc  the above + AVX512-BF16         (Cooper Lake, Sapphire Rapids, Zen 4)
set(LOWP_FLAGS_AVX2 -mavx2 -mfma -mf16c)
# GCC 12's AVX-512 intrinsics use _mm512_undefined_*() internally and trip false
# -Wuninitialized / -Wmaybe-uninitialized (GCC bug 105593): both are off in these files.
set(LOWP_FLAGS_AVX512 ${LOWP_FLAGS_AVX2} -mavx512f -mavx512bw -mavx512dq -mavx512vl
    -Wno-maybe-uninitialized -Wno-uninitialized)
set(LOWP_FLAGS_AVX512VNNI ${LOWP_FLAGS_AVX512} -mavx512vnni)
set(LOWP_FLAGS_AVX512BF16 ${LOWP_FLAGS_AVX512VNNI} -mavx512bf16)

function(lowp_apply_isa_flags)
  foreach(src IN LISTS ARGN)
    if(src MATCHES "_avx512bf16\\.cc$")
      set(flags ${LOWP_FLAGS_AVX512BF16})
    elseif(src MATCHES "_avx512vnni\\.cc$")
      set(flags ${LOWP_FLAGS_AVX512VNNI})
    elseif(src MATCHES "_avx512\\.cc$")
      set(flags ${LOWP_FLAGS_AVX512})
    elseif(src MATCHES "_avx2\\.cc$")
      set(flags ${LOWP_FLAGS_AVX2})
    else()
      continue()
    endif()
    set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${flags}")
  endforeach()
endfunction()

# lowp_layer(NAME DEPS...): a static library of every .cc under src/NAME, its ISA files
# flagged. Headers are included as "NAME/file.h" from src/.
function(lowp_layer name)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cc)
  if(NOT srcs)  # a layer with headers only, or not yet written
    add_library(lowp_${name} INTERFACE)
    target_include_directories(lowp_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(lowp_${name} INTERFACE ${ARGN})
    return()
  endif()
  add_library(lowp_${name} STATIC ${srcs})
  lowp_apply_isa_flags(${srcs})
  target_include_directories(lowp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(lowp_${name} PUBLIC ${ARGN})
endfunction()
