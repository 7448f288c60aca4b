package main

import "runtime/debug"

// The version comes from `make build`'s ldflags (git describe) when it
// set one; otherwise from what the go command stamped into the binary:
// `go install …@v0.2.0` records v0.2.0, and a plain `go build` in a git
// checkout records a pseudo-version and the VCS revision.
func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	version, versionDetail = fromBuildInfo(version, info)
}

// versionDetail is what --version prints after the version: the VCS
// revision and whether the tree had uncommitted changes, when known.
var versionDetail string

// fromBuildInfo returns the version to report and its detail.
func fromBuildInfo(ldflags string, info *debug.BuildInfo) (v, detail string) {
	v = ldflags
	if v == "dev" || v == "" {
		if mv := info.Main.Version; mv != "" && mv != "(devel)" {
			v = mv
		}
	}
	var rev string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v, ""
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	detail = "rev " + rev
	if modified {
		detail += ", modified"
	}
	return v, detail
}

// versionLine is the line --version prints.
func versionLine() string {
	if versionDetail == "" {
		return "sqlmcp " + version
	}
	return "sqlmcp " + version + " (" + versionDetail + ")"
}
