package referral

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	qrcode "github.com/skip2/go-qrcode"
)

// QRPNGSize is the side of the PNG QR code in pixels: sharp on a phone
// screen and on a printed card.
const QRPNGSize = 512

// QRPNG draws link as a QR code PNG of size pixels a side, with the quiet
// zone scanners need. Medium error correction survives a crease or a smudge
// on a parcel card.
func QRPNG(link string, size int) ([]byte, error) {
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("referral: qr code: %w", err)
	}
	return q.PNG(size)
}

// QRSVG draws link as a QR code SVG: one unit square per module, each row's
// dark runs as single rects, so it scales to any print size without blur.
func QRSVG(link string) ([]byte, error) {
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("referral: qr code: %w", err)
	}
	bits := q.Bitmap()
	n := len(bits)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="QR code">`, n, n, n*8, n*8)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><g fill="#000">`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="1"/>`, start, y, x-start)
		}
	}
	b.WriteString(`</g></svg>`)
	return b.Bytes(), nil
}

// QRVersion is a short digest of what a QR image encodes: its URLs carry
// it (…/qr.png?v=…), so they can be cached forever and still change if the
// link ever does (a new base URL).
func QRVersion(link string) string {
	sum := sha256.Sum256([]byte(link))
	return hex.EncodeToString(sum[:6])
}
