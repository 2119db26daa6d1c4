# kelev's development shell and packages.
#
#   nix develop                  # the tools the README and docs/ use; loads .env if present
#   nix build .#kelev-agent      # the forced command (result/bin/kelev-agent)
#   nix build .#kelev            # the CLI (result/bin/kelev)
#
# flake.lock is not committed yet: it cannot be made without network access to GitHub. The
# first `nix develop` (or `nix flake lock`) on a connected machine writes it; commit it then.
# See docs/infrastructure.md.
{
  description = "kelev: Docker Compose projects on one host, deployed over SSH through kelev-agent";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems =
        f:
        lib.genAttrs systems (
          system:
          f (
            import nixpkgs {
              inherit system;
              # Terraform's licence (BUSL) counts as unfree in nixpkgs: allowed by name, and
              # nothing else. Prefer OpenTofu? Replace `terraform` below with `opentofu` and
              # TG_TF_PATH with `tofu`.
              config.allowUnfreePredicate = pkg: builtins.elem (lib.getName pkg) [ "terraform" ];
            }
          )
        );
      version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).workspace.package.version;
      # Only what cargo reads: a change to docs/ or terraform/ does not rebuild the binaries.
      src = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          ./Cargo.toml
          ./Cargo.lock
          ./core
          ./agent
          ./ci
          ./tests
        ];
      };
      rustBinary =
        pkgs:
        { pname, crate }:
        pkgs.rustPlatform.buildRustPackage {
          inherit pname version src;
          cargoLock.lockFile = ./Cargo.lock;
          # `kelev-agent version` names the commit (agent/build.rs): no .git in the build sandbox.
          KELEV_GIT_COMMIT = self.rev or self.dirtyRev or "unknown";
          cargoBuildFlags = [
            "--package"
            crate
            "--bin"
            pname
          ];
          # git2 builds libgit2 and libssh2 against OpenSSL and zlib.
          nativeBuildInputs = [ pkgs.pkg-config ];
          buildInputs = [
            pkgs.openssl
            pkgs.zlib
          ];
          # The test suite drives sshd, git servers and a Docker engine: scripts/test runs it.
          doCheck = false;
          meta = {
            mainProgram = pname;
            license = lib.licenses.mit;
          };
        };
    in
    {
      packages = forAllSystems (pkgs: {
        kelev-agent = rustBinary pkgs {
          pname = "kelev-agent";
          crate = "kelev-agent";
        };
        kelev = rustBinary pkgs {
          pname = "kelev";
          crate = "kelev";
        };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.kelev;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            # Rust: the workspace, its lints and formatting
            cargo
            rustc
            clippy
            rustfmt
            pkg-config
            openssl
            zlib
            # Infrastructure (docs/runbook.md)
            terraform
            terragrunt
            awscli2
            # Checks (scripts/test, scripts/check-infra)
            shellcheck
            actionlint
            checkov
            jq
            git
          ];
          shellHook = ''
            # Terragrunt runs this binary (TERRAGRUNT_TFPATH for releases before 0.73).
            export TG_TF_PATH=terraform TERRAGRUNT_TFPATH=terraform
            # Secrets and per-operator settings (.env.example lists them); .env is git-ignored.
            if [ -f .env ]; then
              set -a
              . ./.env
              set +a
              echo "kelev dev shell: loaded .env" >&2
            fi
          '';
        };
      });
    };
}
