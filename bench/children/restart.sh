# A child that exits at once. Run under bash: $EPOCHREALTIME is a builtin, so
# taking a timestamp costs no fork. Appends one line per run to $1: the time of
# its first action and of its last (microseconds).
start=$EPOCHREALTIME
echo "$start $EPOCHREALTIME" >> "$1"
