#!/bin/sh
# The page the function serves, written at build time.
printf '{"message":"%s","runtime":"dockerfile","built_by_uid":%s}' "$GREETING" "$(id -u)"
