#!/usr/bin/env bash
# The web chat page of whale serve, driven in headless Chromium (playwright-core).
source "$(dirname "$0")/lib/common.bash"
need_node
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || skip "chromium is not installed (scripts/install-deps.sh installs it)"
export CHROMIUM
make_model
start_server
timeout 300 node "$JS_DIR/web.mjs" "$BASE" "$BUILD/e2e-web-chat.png"
stop_server
echo "serve_web: all passed (screenshot $BUILD/e2e-web-chat.png)"
