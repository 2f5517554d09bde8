package returns

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/aftercare/aftercare/internal/fault"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{200, 30, 30, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNGHeader is a valid PNG signature and IHDR claiming 50000 × 50000
// pixels: a few bytes that would decode to gigabytes.
func hugePNGHeader() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 50000)
	binary.BigEndian.PutUint32(ihdr[4:], 50000)
	ihdr[8], ihdr[9] = 8, 2                               // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr))) //nolint:errcheck // bytes.Buffer
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk)) //nolint:errcheck // bytes.Buffer
	return b.Bytes()
}

func TestCheckPhotoDecidesByContent(t *testing.T) {
	big := append(pngBytes(t, 4, 4), make([]byte, MaxPhotoBytes)...)
	tests := []struct {
		name string
		data []byte
		kind fault.Kind // "" = accepted
		ct   string
	}{
		{"a PNG", pngBytes(t, 16, 9), "", "image/png"},
		{"a JPEG", jpegBytes(t), "", "image/jpeg"},
		{"a text file", []byte("just some notes, named photo.png"), fault.Invalid, ""},
		{"an HTML file", []byte("<html><script>alert(1)</script></html>"), fault.Invalid, ""},
		{"a GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), fault.Invalid, ""},
		{"a PNG signature on garbage", append([]byte("\x89PNG\r\n\x1a\n"), []byte("garbage garbage garbage")...), fault.Invalid, ""},
		{"a PNG that claims 50000 pixels a side", hugePNGHeader(), fault.Invalid, ""},
		{"an empty file", nil, fault.Invalid, ""},
		{"a PNG over the size cap", big, fault.TooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := CheckPhoto("items[1].photos", tt.data)
			if tt.kind == "" {
				if err != nil || p.ContentType != tt.ct || p.Width == 0 {
					t.Fatalf("refused or misread: %+v, %v", p.ContentType, err)
				}
				return
			}
			de, ok := fault.As(err)
			if !ok || de.Kind != tt.kind || len(de.Fields) != 1 || de.Fields[0].Field != "items[1].photos" {
				t.Fatalf("got %#v, want a %s error on the field", err, tt.kind)
			}
		})
	}
}
