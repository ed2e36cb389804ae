#!/usr/bin/env bash
# Shell scripting basics: variables, tests and loops.
#
# Run with:  bash loops_and_tests.sh some_folder

# "set -u" makes the script stop if we use a variable that was never set,
# which catches typos early.
set -u

# $1 is the first argument. ${1:-.} means "use $1, or . if it is missing".
folder=${1:-.}

# [ -d path ] tests whether a directory exists. Always quote variables:
# without quotes, a folder name with spaces would be split into two words.
if [ ! -d "$folder" ]; then
    echo "Not a directory: $folder" >&2   # >&2 sends the message to stderr
    exit 1
fi

count=0
# The glob "$folder"/* expands to every entry in the folder.
for path in "$folder"/*; do
    # -f is true for regular files (not directories).
    if [ -f "$path" ]; then
        count=$((count + 1))              # $(( )) does integer arithmetic
        echo "file: $(basename "$path")"
    fi
done

echo "$count regular files in $folder"
