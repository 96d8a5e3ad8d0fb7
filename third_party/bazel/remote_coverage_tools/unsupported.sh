#!/bin/sh
echo "coverage tools are not available with --config=offline" >&2
exit 1
