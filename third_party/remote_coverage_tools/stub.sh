#!/bin/bash
# Stub for Bazel's coverage helpers; coverage reports are not supported offline.
echo "remote_coverage_tools stub: coverage merging/reporting not available offline" >&2
exit 0
