package returns

import (
	"html/template"

	"github.com/aftercare/aftercare/internal/guides"
)

// RenderGuide is a product's guide as safe HTML for the "try this first"
// panel, rendered the way the guide pages render it.
func RenderGuide(md string) template.HTML { return guides.Render(md) }
