# Shortcuts for the commands in README.md.

# Build and start the runner on 127.0.0.1:8080 with its bundled plugins.
serve *ARGS:
    cargo run --release -p longrun -- serve {{ARGS}}

# Check a running server against spec/protocol.md (see conformance/README.md).
conformance URL *ARGS:
    cargo run --release -p longrun-conformance -- run --base-url {{URL}} {{ARGS}}

# Run the whole test suite.
test:
    cargo test --workspace

# Format and lint, as CI does.
check:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --target wasm32-wasip2 -p longrun-plugin -p longrun-probe -p longrun-json-compare -p longrun-json-merge -p longrun-text-diff -p longrun-hostile -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run
