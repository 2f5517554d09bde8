package returns

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig reads JPEG headers
	_ "image/png"  // and PNG headers
	"net/http"

	"github.com/aftercare/aftercare/internal/fault"
)

// Photo limits: each photo at most MaxPhotoBytes, at most MaxPhotos per
// return, and at most MaxPhotoSide pixels a side (a small file can claim a
// huge image).
const (
	MaxPhotoBytes = 5 << 20
	MaxPhotos     = 5
	MaxPhotoSide  = 12000
)

// CheckedPhoto is an upload that is a JPEG or PNG by its content.
type CheckedPhoto struct {
	ContentType   string
	Width, Height int
	Data          []byte
}

// CheckPhoto decides by content, never by name or declared type, whether
// data is a JPEG or PNG photo within the limits. field names the form field
// in the errors: fault.Field for an empty file, another format or a broken
// image; fault.TooLarge for a file over MaxPhotoBytes.
func CheckPhoto(field string, data []byte) (CheckedPhoto, error) {
	if len(data) == 0 {
		return CheckedPhoto{}, fault.Field(field, "is an empty file")
	}
	if len(data) > MaxPhotoBytes {
		return CheckedPhoto{}, &fault.Error{Kind: fault.TooLarge, Message: "A photo is too large.",
			Fields: []fault.FieldError{{Field: field, Message: fmt.Sprintf("must be at most %d MB", MaxPhotoBytes>>20)}}}
	}
	ct := http.DetectContentType(data)
	if ct != "image/jpeg" && ct != "image/png" {
		return CheckedPhoto{}, fault.Field(field, "must be a JPEG or PNG photo")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || "image/"+format != ct {
		return CheckedPhoto{}, fault.Field(field, "is not a readable JPEG or PNG image")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxPhotoSide || cfg.Height > MaxPhotoSide {
		return CheckedPhoto{}, fault.Field(field, fmt.Sprintf("must be at most %d pixels a side", MaxPhotoSide))
	}
	return CheckedPhoto{ContentType: ct, Width: cfg.Width, Height: cfg.Height, Data: data}, nil
}
