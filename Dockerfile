# hearth in a container: the same bootstrap and build as on a host (scripts/bootstrap.sh + make build),
# then a slim runtime image with the binary, its ggml CPU backends and ONNX Runtime.
FROM golang:1.26-bookworm AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      nlohmann-json3-dev libstb-dev cmake ccache nodejs npm >/dev/null && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV HEARTH_CACHE=/cache
RUN make build && ./bin/hearth models generate

# The side-by-side benchmark (docker compose --profile bench run --rm bench): the build stage plus the
# reference Ollama and hearth-bench.
FROM build AS bench
RUN bash scripts/bootstrap.sh ollama-cli && make bench-tools
CMD ["make", "bench"]

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates libgomp1 >/dev/null \
      && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/bin/hearth /usr/local/bin/hearth
COPY --from=build /src/lib /usr/local/lib
COPY --from=build /cache/models /cache/models
ENV OLLAMA_HOST=0.0.0.0:11434 \
    OLLAMA_MODELS=/models \
    HEARTH_CACHE=/cache \
    HEARTH_ORT_LIBRARY=/usr/local/lib/libonnxruntime.so
EXPOSE 11434
ENTRYPOINT ["/usr/local/bin/hearth"]
CMD ["serve"]
