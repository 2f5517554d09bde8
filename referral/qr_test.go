package referral

import (
	"bytes"
	"image"
	"image/color"
	_ "image/png"
	"regexp"
	"strconv"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// decode reads a QR code image back to its text.
func decode(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText()
}

// rasterize draws the SVG's unit rects at 8 px a module, as a printer would.
func rasterize(t *testing.T, svg []byte) image.Image {
	t.Helper()
	size := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindSubmatch(svg)
	if size == nil {
		t.Fatalf("no viewBox in %s", svg[:100])
	}
	n, _ := strconv.Atoi(string(size[1]))
	const px = 8
	img := image.NewGray(image.Rect(0, 0, n*px, n*px))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	rect := regexp.MustCompile(`<rect x="(\d+)" y="(\d+)" width="(\d+)" height="1"/>`)
	for _, m := range rect.FindAllSubmatch(svg, -1) {
		x, _ := strconv.Atoi(string(m[1]))
		y, _ := strconv.Atoi(string(m[2]))
		wd, _ := strconv.Atoi(string(m[3]))
		for yy := y * px; yy < (y+1)*px; yy++ {
			for xx := x * px; xx < (x+wd)*px; xx++ {
				img.SetGray(xx, yy, color.Gray{})
			}
		}
	}
	return img
}

func TestTheQRCodesDecodeBackToTheShareLink(t *testing.T) {
	w := newWorld(t, false)
	jane := w.referrer("jane@example.com", "Jane Doe", order{})
	app := testApp(t, w)
	link := "https://care.example.test/r/" + jane.Code

	resp, body := get(t, app, "/r/"+jane.Code+"/qr.png?v="+QRVersion(link), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("ETag") == "" {
		t.Fatalf("png: %d %v", resp.StatusCode, resp.Header)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(t, img); got != link {
		t.Fatalf("the PNG says %q, want %q", got, link)
	}

	resp, body = get(t, app, "/r/"+jane.Code+"/qr.svg", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("svg: %d %v", resp.StatusCode, resp.Header)
	}
	if got := decode(t, rasterize(t, body)); got != link {
		t.Fatalf("the SVG says %q, want %q", got, link)
	}

	// A cache that has it asks again with the ETag and gets 304.
	etag := resp.Header.Get("ETag")
	if r, _ := get(t, app, "/r/"+jane.Code+"/qr.svg", map[string]string{"If-None-Match": etag}); r.StatusCode != 304 {
		t.Fatalf("revalidation: %d", r.StatusCode)
	}
	if r, _ := get(t, app, "/r/NOBODY-2222/qr.png", nil); r.StatusCode != 404 {
		t.Fatalf("unknown code: %d", r.StatusCode)
	}
}
