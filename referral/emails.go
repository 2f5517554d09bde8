package referral

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/fault"
	"github.com/aftercare/aftercare/internal/mail"
	"github.com/aftercare/aftercare/internal/settings"
	"github.com/aftercare/aftercare/referral/program"
	"github.com/aftercare/aftercare/referral/rewards"
	"github.com/aftercare/aftercare/web"
)

// InviteEmail is .Data of referral_invite.
type InviteEmail struct {
	FirstName, Code, Link, QRURL, ReferURL, Offer, Reward string
}

// FriendOfferEmail is .Data of referral_friend_offer.
type FriendOfferEmail struct {
	ReferrerName, Code, Offer, StoreLink string
	Minimum                              string // "" for none
	ExpiresAt                            time.Time
}

// RewardEmail is .Data of referral_reward and referral_clawback.
type RewardEmail struct {
	FirstName, Reward, Code, StoreLink, ReferURL, Reason string
	Credit                                               bool
	ExpiresAt                                            *time.Time
}

// composeFunc adapts a function to mail.Composer.
type composeFunc func(ctx context.Context, m mail.Message) (mail.Content, error)

func (f composeFunc) Compose(ctx context.Context, m mail.Message) (mail.Content, error) {
	return f(ctx, m)
}

// Composers renders the program's emails at delivery: the invite, the
// friend's code, and the referrer's reward and clawback notices. A message
// whose referral or reward is gone is skipped.
func (s *Service) Composers(r *mail.Renderer) map[string]mail.Composer {
	render := func(ctx context.Context, kind string, data func(settings.Store, program.Settings) (any, error)) (mail.Content, error) {
		st, err := settings.Load(ctx, s.db)
		if err != nil {
			return mail.Content{}, err
		}
		p, err := program.Load(ctx, s.db)
		if err != nil {
			return mail.Content{}, err
		}
		d, err := data(st, p)
		if err != nil {
			return mail.Content{}, err
		}
		c, err := r.Render(kind, mail.View{Store: st, Data: d})
		if err == nil && st.SupportEmail != "" {
			c.Headers = map[string]string{"Reply-To": st.SupportEmail}
		}
		return c, err
	}
	return map[string]mail.Composer{
		MailInvite: composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) {
			if m.CustomerID == 0 {
				return mail.Content{}, mail.Skip(fmt.Errorf("referral: invite %d has no customer", m.ID))
			}
			var code Code
			err := db.InTx(ctx, s.db, func(tx *sqlx.Tx) (err error) { code, err = s.EnsureCode(ctx, tx, m.CustomerID); return err })
			if fault.KindOf(err) == fault.NotFound {
				return mail.Content{}, mail.Skip(err)
			}
			if err != nil {
				return mail.Content{}, err
			}
			name, _, err := customerNameEmail(ctx, s.db, m.CustomerID)
			if err != nil {
				return mail.Content{}, err
			}
			return render(ctx, MailInvite, func(_ settings.Store, p program.Settings) (any, error) {
				link := s.ShareLink(code.Code)
				return InviteEmail{FirstName: firstName(name), Code: code.Code, Link: link, ReferURL: s.baseURL + "/refer",
					QRURL: s.baseURL + "/r/" + code.Code + "/qr.png?v=" + QRVersion(link),
					Offer: p.Friend.Describe(p.Currency), Reward: p.DescribeReward(p.Referrer)}, nil
			})
		}),
		MailFriendOffer: composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) {
			var id int64
			if _, err := fmt.Sscanf(m.DedupeKey, MailFriendOffer+":%d", &id); err != nil {
				return mail.Content{}, mail.Permanent(fmt.Errorf("referral: friend offer %d: key %q", m.ID, m.DedupeKey))
			}
			ref, found, err := referralByID(ctx, s.db, id, false)
			if err != nil {
				return mail.Content{}, err
			}
			if !found || ref.PromotionCode == nil || ref.OfferExpiresAt == nil {
				return mail.Content{}, mail.Skip(fmt.Errorf("referral: friend offer %d: referral %d gone", m.ID, id))
			}
			name, _, err := customerNameEmail(ctx, s.db, ref.ReferrerID)
			if err != nil {
				return mail.Content{}, err
			}
			return render(ctx, MailFriendOffer, func(st settings.Store, p program.Settings) (any, error) {
				d := FriendOfferEmail{ReferrerName: firstName(name), Code: ref.Code(), Offer: p.Friend.Describe(p.Currency),
					StoreLink: StoreLink(st.StoreURL, p.StoreParam, ref.Code()), ExpiresAt: *ref.OfferExpiresAt}
				if p.Friend.MinimumMinor > 0 {
					d.Minimum = web.Money(p.Friend.MinimumMinor, p.Currency)
				}
				return d, nil
			})
		}),
		rewards.MailGranted:  s.rewardComposer(rewards.MailGranted, render),
		rewards.MailClawback: s.rewardComposer(rewards.MailClawback, render),
	}
}

func (s *Service) rewardComposer(kind string, render func(context.Context, string, func(settings.Store, program.Settings) (any, error)) (mail.Content, error)) mail.Composer {
	return composeFunc(func(ctx context.Context, m mail.Message) (mail.Content, error) {
		id := rewards.RewardIDFromKey(kind, m.DedupeKey)
		if id == 0 {
			return mail.Content{}, mail.Permanent(fmt.Errorf("referral: %s %d: key %q", kind, m.ID, m.DedupeKey))
		}
		rw, err := s.rewards.Reward(ctx, id)
		if fault.KindOf(err) == fault.NotFound {
			return mail.Content{}, mail.Skip(err)
		}
		if err != nil {
			return mail.Content{}, err
		}
		name, _, err := customerNameEmail(ctx, s.db, rw.CustomerID)
		if err != nil {
			return mail.Content{}, err
		}
		return render(ctx, kind, func(st settings.Store, p program.Settings) (any, error) {
			d := RewardEmail{FirstName: firstName(name), Reward: describeReward(rw), Code: rw.Code(), ExpiresAt: rw.CodeExpiresAt,
				ReferURL: s.baseURL + "/refer", Reason: rw.VoidReason, Credit: rw.RewardType == program.Credit}
			if d.Code != "" {
				d.StoreLink = StoreLink(st.StoreURL, p.StoreParam, d.Code)
			}
			return d, nil
		})
	})
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}
