package mail

import (
	"strings"
	"testing"
	"time"
)

func TestNextSendTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	def := DefaultPacing()
	tests := []struct {
		name      string
		p         Pacing
		now, last string
		want      string
	}{
		{"the first email in the day goes at once", def, "2026-03-02 10:00", "", "2026-03-02 10:00"},
		{"one 16 hours after the last goes at once", def, "2026-03-02 10:00", "2026-03-01 18:00", "2026-03-02 10:00"},
		{"one too soon waits for the cap", def, "2026-03-02 10:00", "2026-03-02 02:00", "2026-03-02 18:00"},
		{"a cap that ends in the night waits for the morning", def, "2026-03-02 10:00", "2026-03-02 09:00", "2026-03-03 08:00"},
		{"late evening waits for the morning", def, "2026-03-02 22:30", "", "2026-03-03 08:00"},
		{"early morning waits until eight", def, "2026-03-02 05:15", "", "2026-03-02 08:00"},
		{"eight o'clock sharp is allowed", def, "2026-03-02 08:00", "", "2026-03-02 08:00"},
		{"nine in the evening is quiet", def, "2026-03-02 21:00", "", "2026-03-03 08:00"},
		{"quiet hours follow the clock across a DST change", def, "2026-03-07 23:00", "", "2026-03-08 08:00"},
		{"a daytime window", Pacing{QuietStart: "12:00", QuietEnd: "14:00"}, "2026-03-02 12:30", "", "2026-03-02 14:00"},
		{"no quiet hours and no cap", Pacing{}, "2026-03-02 03:00", "2026-03-02 02:59", "2026-03-02 03:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last time.Time
			if tt.last != "" {
				last = at(tt.last)
			}
			got := tt.p.NextSendTime(at(tt.now), last, ny)
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("NextSendTime = %s, want %s", got.In(ny).Format("2006-01-02 15:04 MST"), want.Format("2006-01-02 15:04 MST"))
			}
		})
	}
}

func TestPacingValidate(t *testing.T) {
	tests := []struct {
		p    Pacing
		want string
	}{
		{DefaultPacing(), ""},
		{Pacing{}, ""},
		{Pacing{FrequencyCapHours: -1}, "frequency_cap_hours"},
		{Pacing{QuietStart: "25:00", QuietEnd: "08:00"}, "quiet_start"},
		{Pacing{QuietStart: "21:00"}, "quiet_end"},
		{Pacing{QuietStart: "9pm", QuietEnd: "8am"}, "quiet_start"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want a problem with %q", tt.p, err, tt.want)
		}
	}
}
