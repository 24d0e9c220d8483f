# syntax=docker/dockerfile:1

# ---- build ------------------------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
# The embedded database is pure Go (no cgo), so the binary is fully static.
ENV CGO_ENABLED=0

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags='-s -w' -o /out/app ./app/cmd/atelier \
 && mkdir -p /out/data

# ---- runtime ----------------------------------------------------------------------------------
# distroless static: CA certificates, tzdata and /etc/passwd with a nonroot user (65532), no shell.
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/app /app
# Owned by the runtime user, so a fresh named volume mounted here is writable.
COPY --from=build --chown=65532:65532 /out/data /data

ENV HTTP_ADDR=0.0.0.0:8080 \
    DATA_DIR=/data \
    LOG_FORMAT=json

USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080

ENTRYPOINT ["/app"]
CMD ["serve"]
