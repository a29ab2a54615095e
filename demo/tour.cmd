# The demo tour (what `make demo` runs without a terminal; type these in the
# TUI or REPL yourself).  The same phone seen three ways:
info
similar I00980 k=5
# A cold-start item: only text can answer
show I00001
similar I00001 k=5
# Free text goes through the text encoder
query "wireless noise cancelling earbuds" k=5
# What each method is good at, measured
eval
eval --cold
eval --complements
compare
