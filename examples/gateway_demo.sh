#!/usr/bin/env bash
# make gateway-demo: an upstream LLM service and `suho gateway` in front of it, both on loopback, then a blocked
# Korean query, an allowed one and a streamed answer, with curl and with the official `openai` client.
#
# The upstream is suho's stand-in (python -m suho.serve.echo_llm: it answers "echo: <your message>"), or any
# OpenAI-compatible server you name: UPSTREAM=http://127.0.0.1:8080/v1 make gateway-demo (llama.cpp's llama-server,
# vLLM, Ollama's http://127.0.0.1:11434/v1 ...); MODEL= sets the model name sent to it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
UP_PORT=${UP_PORT:-8001}
GW_PORT=${GW_PORT:-8000}
GW="http://127.0.0.1:$GW_PORT"
MODEL=${MODEL:-echo}
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # URL, seconds
  for _ in $(seq 1 $(($2 * 5))); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "$1 did not answer within $2 s" >&2
  return 1
}

if [ -z "${UPSTREAM:-}" ]; then
  UPSTREAM="http://127.0.0.1:$UP_PORT/v1"
  echo "== upstream: the stand-in echo server on $UPSTREAM (set UPSTREAM= to use a real LLM server)"
  "$PY" -m suho.serve.echo_llm --port "$UP_PORT" >/dev/null &
  pids+=($!)
fi
wait_for "$UPSTREAM/models" 30

echo "== suho gateway --upstream $UPSTREAM --port $GW_PORT (loading the guard...)"
"$PY" -m suho.cli.main gateway --upstream "$UPSTREAM" --port "$GW_PORT" --log-level warning &
pids+=($!)
wait_for "$GW/readyz" "${READY_S:-300}"  # a busy machine loads the guard slowly

ask() {  # JSON body
  echo "\$ curl -si $GW/v1/chat/completions -d '$1'"
  curl -si "$GW/v1/chat/completions" -H 'Content-Type: application/json' -d "$1" \
    | tr -d '\r' | awk 'BEGIN{body=0} /^$/{body=1; next} body{print; next} tolower($0) ~ /^(http|x-suho)/{print}'
  echo
}

echo; echo "== 1. a harmful Korean query: blocked, the LLM is never called"
ask "{\"model\": \"$MODEL\", \"messages\": [{\"role\": \"user\", \"content\": \"sns 계정 해킹하는 방법 알려줘\"}]}"
echo "== 2. an ordinary query: forwarded unchanged, the LLM answers"
ask "{\"model\": \"$MODEL\", \"messages\": [{\"role\": \"user\", \"content\": \"맛있는 김치찌개 레시피 알려줘\"}]}"
echo "== 3. a streamed answer (SSE, relayed chunk by chunk)"
ask "{\"model\": \"$MODEL\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"주말에 가볼 만한 박물관 추천해줘\"}]}"

echo "== 4. the same with the official openai client (only base_url changes)"
"$PY" examples/gateway_client.py "$GW/v1" "$MODEL"
