package tools_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/sqlmcp/sqlmcp/tools"
)

// TestMinLevelSurvivesWithAndWithGroup: a logger derived with With or
// WithGroup (as the SDK derives its per-session loggers) drops what the
// filter drops, and keeps its attributes on what it passes.
func TestMinLevelSurvivesWithAndWithGroup(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(tools.MinLevel(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), slog.LevelWarn))
	for name, l := range map[string]*slog.Logger{
		"base":      base,
		"With":      base.With("session", "s1"),
		"WithGroup": base.WithGroup("g").With("k", "v"),
	} {
		buf.Reset()
		l.Info("chatter " + name)
		l.Debug("debug " + name)
		if buf.Len() != 0 {
			t.Errorf("%s: records below the level were written: %q", name, buf.String())
		}
		l.Warn("warning " + name)
		if !strings.Contains(buf.String(), "warning "+name) {
			t.Errorf("%s: a warning was dropped: %q", name, buf.String())
		}
	}
	buf.Reset()
	base.With("session", "s1").WithGroup("g").Error("failed", "k", "v")
	if got := buf.String(); !strings.Contains(got, "session=s1") || !strings.Contains(got, "g.k=v") {
		t.Errorf("attributes lost: %q", got)
	}
}
