# Embeds sim/store/schema.sql as the C string cs_schema_sql: one schema
# file, which the code and the docs share.
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* Generated from sim/store/schema.sql; do not edit. */\nconst char cs_schema_sql[] = {${bytes} 0x00};\n")
