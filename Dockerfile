# syntax=docker/dockerfile:1
# Multi-stage build: a static binary on a distroless, non-root base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/aftercare ./cmd/aftercare

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/aftercare /usr/local/bin/aftercare
USER nonroot:nonroot
EXPOSE 8080
ENV AFTERCARE_ADDR=:8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/aftercare", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/aftercare"]
CMD ["serve"]
