# leaderhook: a static binary on a distroless base, running as non-root.
#   docker build -t leaderhook .
#   docker run -v $PWD/rules.yaml:/etc/leaderhook/rules.yaml:ro -v lh-state:/var/lib/leaderhook -p 9464:9464 leaderhook
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build command is checked by tests/dockerfile_test.go: keep it on one line.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/leaderhook ./cmd/leaderhook

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leaderhook /usr/local/bin/leaderhook
# Config in, state and audit log out.
VOLUME ["/etc/leaderhook", "/var/lib/leaderhook"]
WORKDIR /var/lib/leaderhook
ENV LEADERHOOK_SERVER__LISTEN=0.0.0.0:9464 \
    LEADERHOOK_STATE_DIR=/var/lib/leaderhook/state \
    LEADERHOOK_AUDIT_LOG=/var/lib/leaderhook/audit.jsonl
EXPOSE 9464
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/usr/local/bin/leaderhook", "health", "--url", "http://127.0.0.1:9464/healthz"]
ENTRYPOINT ["/usr/local/bin/leaderhook"]
CMD ["run", "--config", "/etc/leaderhook/rules.yaml"]
