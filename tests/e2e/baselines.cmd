# The reference baselines: trained and stored like models, listed by
# `models`, answering similar and recommend user after the three lists.
gen demo --items 60 --sessions 200 --seed 5
# nothing trained yet: only the three lists
similar I00001 k=3
train knn neighbours=0
train ease lambda=0
train ease max_mb=abc
train ease colour=blue
train knn neighbours=20
train transition
train ease lambda=50
models
info
similar I00001 k=3
recommend user U00001 k=3
# one of them, or none
set baseline ease
similar I00001 k=3
set baseline none
similar I00001 k=3
set baseline sideways
set baseline all
# retrained with other parameters, as one command
train baselines neighbours=5 lambda=10
similar I00002 k=4
# the baselines have no vectors
export vectors knn /tmp/never-written.txt
index build ease flat
