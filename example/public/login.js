// Logs in through the JSON API so the page can explain failures in place;
// without JavaScript the form posts to /login instead.

const form = document.getElementById('login-form')
const message = document.getElementById('login-message')

function say (text, kind) {
  message.textContent = text
  message.className = kind
  message.hidden = false
}

const query = new URLSearchParams(window.location.search)
if (query.has('failed')) say('Wrong user name or password.', 'error')
if (query.has('loggedIn')) say('Logged in as a plain user. The admin dashboard only accepts admins.', 'info')

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const fields = new FormData(form)
  try {
    const response = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: fields.get('username'), password: fields.get('password') })
    })
    const body = await response.json()
    if (response.ok) {
      if (body.user.role === 'admin') {
        window.location.assign('/admin')
      } else {
        say(`Logged in as ${body.user.name}, a plain user. The admin dashboard only accepts admins.`, 'info')
      }
    } else if (body.code === 'ORIGIN_REFUSED') {
      say(`The server does not allow this page's origin, ${window.location.origin}. Open it from an allowed origin, or add this one to CORS_ORIGINS.`, 'error')
    } else {
      say(body.message, 'error')
    }
  } catch (error) {
    say(`The server did not answer: ${error.message}`, 'error')
  }
})
