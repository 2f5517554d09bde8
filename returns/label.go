package returns

import (
	"crypto/rand"
	"fmt"
	"regexp"

	qrcode "github.com/skip2/go-qrcode"
)

// rmaAlphabet leaves out letters read as digits (I, L, O, U) and 0 and 1,
// so an RMA read aloud or typed from a label comes out right.
const rmaAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// rmaPattern is the shape of an RMA number: R- and six characters.
var rmaPattern = regexp.MustCompile(`^R-[0-9A-Z]{6}$`)

// ValidRMA reports whether s has the shape of an RMA number.
func ValidRMA(s string) bool { return rmaPattern.MatchString(s) }

// newRMA draws a random RMA number such as R-7K3Q9P (30^6, about 729
// million, of them; a clash is retried by the caller).
func newRMA() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("returns: rma: %w", err)
	}
	out := []byte("R-")
	for _, x := range b {
		// 256 % 30 leaves a slight bias, harmless for a label number.
		out = append(out, rmaAlphabet[int(x)%len(rmaAlphabet)])
	}
	return string(out), nil
}

// QRSize is the side in pixels of the label's QR code.
const QRSize = 320

// LabelQR returns a PNG QR code that encodes the RMA number alone, which is
// what a drop-off point scans.
func LabelQR(rma string) ([]byte, error) {
	png, err := qrcode.Encode(rma, qrcode.Medium, QRSize)
	if err != nil {
		return nil, fmt.Errorf("returns: qr for %s: %w", rma, err)
	}
	return png, nil
}
