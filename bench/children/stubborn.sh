# A child that ignores SIGTERM, with a grandchild that ignores it too (an
# ignored signal stays ignored across fork and exec). Only SIGKILL ends them.
trap '' TERM
sleep 1000 &
wait
