package webui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/usecase/accounts"
)

// showLogin serves GET /login (component Login); a logged-in visitor goes
// to their landing page.
func (u *ui) showLogin(w http.ResponseWriter, r *http.Request) {
	if v := visitFrom(r.Context()); v.loggedIn() {
		u.inertia.Redirect(w, r, landing(v.current.User))
		return
	}
	u.render(w, r, "Login", nil)
}

// login serves POST /login: 303 /dashboards with the session cookie, or
// 303 back to /login with errors.email; throttled attempts are 429 and
// attempts refused because every password-hashing slot is taken are 503,
// both with Retry-After and the Login page with errors.email.
func (u *ui) login(w http.ResponseWriter, r *http.Request) {
	f, err := decodeForm(r, "email", "password")
	if err != nil {
		u.fail(w, r, "/login", err)
		return
	}
	res, err := u.accounts.Login(r.Context(), accounts.LoginRequest{
		Email: f.Values["email"], Password: f.Values["password"], ClientAddr: u.clientAddr(r)})
	var (
		terr *accounts.ThrottledError
		berr *accounts.BusyError
	)
	switch {
	case errors.As(err, &terr):
		msg := fmt.Sprintf("Too many attempts; try again in %d minutes", terr.Minutes())
		w.Header().Set("Retry-After", strconv.Itoa(int(terr.RetryAfter.Seconds()+0.999)))
		u.renderStatus(w, r, http.StatusTooManyRequests, "Login", inertia.Props{"errors": map[string]string{"email": msg}})
		return
	case errors.As(err, &berr):
		w.Header().Set("Retry-After", strconv.Itoa(berr.Seconds()))
		u.renderStatus(w, r, http.StatusServiceUnavailable, "Login", inertia.Props{"errors": map[string]string{"email": loginBusyMessage}})
		return
	case errors.Is(err, account.ErrBadCredentials):
		if err := u.inertia.WithErrors(w, r, map[string]string{"email": account.ErrBadCredentials.Error()}); err != nil {
			u.internal(w, r, err)
			return
		}
		u.inertia.Redirect(w, r, "/login")
		return
	case err != nil:
		u.internal(w, r, fmt.Errorf("login: %w", err))
		return
	}
	setSessionCookie(w, r, res.ID)
	setXSRFCookie(w, r, csrfToken(res.ID))
	clearCookie(w, r, preSessionCookie, true)
	u.inertia.Redirect(w, r, landing(res.User))
}

// landing is where a user starts: the dashboards, or for a super-admin of
// no tenant (who has no dashboards) the Health page.
func landing(user account.User) string {
	if user.TenantID == nil && user.SuperAdmin {
		return "/health"
	}
	return "/dashboards"
}

// loginBusyMessage is errors.email of a login refused with 503 (every
// password-hashing slot taken): nothing was checked, retrying is fine.
const loginBusyMessage = "Too many logins at once; try again in a moment"

// logout serves POST /logout: 303 /login with a fresh pre-session.
func (u *ui) logout(w http.ResponseWriter, r *http.Request) {
	if v := visitFrom(r.Context()); v.loggedIn() {
		if err := u.accounts.Logout(r.Context(), v.sessionID); err != nil {
			u.internal(w, r, err)
			return
		}
	}
	clearCookie(w, r, sessionCookie, true)
	setXSRFCookie(w, r, csrfToken(startPreSession(w, r)))
	u.inertia.Redirect(w, r, "/login")
}

// home serves GET /: 303 to the landing page (or the login page).
func (u *ui) home(w http.ResponseWriter, r *http.Request) {
	u.inertia.Redirect(w, r, landing(visitFrom(r.Context()).current.User))
}

// explore serves GET /explore (component Explore, no props).
func (u *ui) explore(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "Explore", nil)
}

func (u *ui) render(w http.ResponseWriter, r *http.Request, component string, props inertia.Props) {
	u.renderStatus(w, r, http.StatusOK, component, props)
}

func (u *ui) renderStatus(w http.ResponseWriter, r *http.Request, status int, component string, props inertia.Props) {
	if err := u.inertia.RenderStatus(w, r, status, component, props); err != nil {
		u.internal(w, r, err)
	}
}
