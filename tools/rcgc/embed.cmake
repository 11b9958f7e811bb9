# embed.cmake — turn the report's style and script into C strings:
#   cmake -DOUT=report_assets.c -DNAMES="report_css;report_js"
#         -DFILES="report.css;report.js" -P embed.cmake
# Bytes, not a string literal: no escaping, no length limit of literals.
set(text "/* Generated from ${FILES} by embed.cmake; do not edit. */\n")
list(LENGTH NAMES n)
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  list(GET NAMES ${i} name)
  list(GET FILES ${i} file)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REPLACE "0x0a," "0x0a,\n" bytes "${bytes}")  # a line per source line
  string(APPEND text "extern const unsigned char ${name}[];\nconst unsigned char ${name}[] = {\n${bytes}0x00};\n")
endforeach()
file(WRITE "${OUT}" "${text}")
