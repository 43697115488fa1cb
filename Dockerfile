# leaderhook: a static binary on a distroless base, running as non-root.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t leaderhook .
#   docker run -v $PWD/rules.yaml:/etc/leaderhook/rules.yaml:ro -v lh-state:/var/lib/leaderhook -p 9464:9464 leaderhook
# rules.yaml must be readable by uid 65532. A bind mount instead of the named
# volume needs a host directory owned by 65532: chown 65532:65532 DIR.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `leaderhook version` prints main.version. .git is not in the context
# (.dockerignore), so no commit can be stamped: -buildvcs=false says so.
ARG VERSION=dev
# The build command is checked by tests/dockerfile_test.go: keep it on one line.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION}" -o /out/leaderhook ./cmd/leaderhook
# The state directory, empty: copied below owned by nonroot.
RUN mkdir -p /out/var-lib-leaderhook

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/leaderhook /usr/local/bin/leaderhook
# Created here owned by nonroot (65532), before WORKDIR or VOLUME could create
# it owned by root: a new named volume copies this owner, so the daemon can
# write its state there. Without it: "state_dir: mkdir ...: permission denied".
COPY --from=build --chown=65532:65532 /out/var-lib-leaderhook /var/lib/leaderhook
# The default state_dir (./leaderhook-state) and relative audit_log paths
# land in the volume because this is the working directory.
WORKDIR /var/lib/leaderhook
# Config in, state and audit log out.
VOLUME ["/etc/leaderhook", "/var/lib/leaderhook"]
# A container must listen beyond loopback. This wins over server.listen in
# rules.yaml; the HEALTHCHECK reads the same config and environment, so it
# asks wherever the daemon listens.
ENV LEADERHOOK_SERVER__LISTEN=0.0.0.0:9464
EXPOSE 9464
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/usr/local/bin/leaderhook", "health", "--config", "/etc/leaderhook/rules.yaml"]
ENTRYPOINT ["/usr/local/bin/leaderhook"]
CMD ["run", "--config", "/etc/leaderhook/rules.yaml"]
