package returns

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/aftercare/aftercare/internal/fault"
)

// action is the common shape of the simple staff actions.
func (h *Handlers) action(c *fiber.Ctx, done string, do func(id int64, actor string) error) error {
	id, err := returnID(c)
	if err != nil {
		return err
	}
	who, err := actor(c)
	if err != nil {
		return err
	}
	return h.acted(c, id, done, do(id, who))
}

func (h *Handlers) approve(c *fiber.Ctx) error {
	return h.action(c, "approved", func(id int64, who string) error {
		_, err := h.svc.Approve(c.UserContext(), id, who)
		return err
	})
}

func (h *Handlers) reject(c *fiber.Ctx) error {
	return h.action(c, "rejected", func(id int64, who string) error {
		_, err := h.svc.Reject(c.UserContext(), id, who, c.FormValue("reason"))
		return err
	})
}

func (h *Handlers) inTransit(c *fiber.Ctx) error {
	return h.action(c, "in_transit", func(id int64, who string) error {
		_, err := h.svc.MarkInTransit(c.UserContext(), id, who)
		return err
	})
}

// receive reads received_<item id> and damaged_<item id> for each item,
// and note.
func (h *Handlers) receive(c *fiber.Ctx) error {
	return h.action(c, "received", func(id int64, who string) error {
		in := Receipt{Received: map[int64]int{}, Damaged: map[int64]int{}, Note: c.FormValue("note")}
		var f fault.Fields
		c.Request().PostArgs().VisitAll(func(k, v []byte) {
			key := string(k)
			var into map[int64]int
			var name string
			switch {
			case strings.HasPrefix(key, "received_"):
				into, name = in.Received, "received"
			case strings.HasPrefix(key, "damaged_"):
				into, name = in.Damaged, "damaged"
			default:
				return
			}
			itemID, err := strconv.ParseInt(strings.TrimPrefix(key, name+"_"), 10, 64)
			n, nerr := strconv.Atoi(strings.TrimSpace(string(v)))
			switch {
			case err != nil:
				f.Add(name, "names an item that is not part of this return")
			case nerr != nil && strings.TrimSpace(string(v)) != "":
				f.Add(name+"["+strconv.FormatInt(itemID, 10)+"]", "must be a whole number")
			default:
				into[itemID] = n
			}
		})
		if err := f.Err(); err != nil {
			return err
		}
		_, err := h.svc.Receive(c.UserContext(), id, who, in)
		return err
	})
}

func (h *Handlers) resolve(c *fiber.Ctx) error {
	return h.action(c, "resolved", func(id int64, who string) error {
		_, err := h.svc.Resolve(c.UserContext(), id, who, Resolution(c.FormValue("method")))
		return err
	})
}
