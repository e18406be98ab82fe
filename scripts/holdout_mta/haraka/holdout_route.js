// Haraka plugin of the holdout run (never used by pmail or its tests): every client on
// loopback relays, and each recipient domain goes to the stand-in server or LMTP
// server that cases.ROUTES names (routes.json, written by haraka_config.py); a domain
// without a route is left to DNS, which answers nothing on this machine.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

exports.register = function () {
  const file = path.join(process.env.HARAKA_HOLDOUT_DIR || '.', 'routes.json')
  this.routes = JSON.parse(fs.readFileSync(file, 'utf8'))
}

exports.hook_connect = function (next, connection) {
  if (connection.remote.ip === '127.0.0.1') connection.relaying = true
  next()
}

exports.hook_rcpt = function (next, connection) {
  next(connection.relaying ? OK : undefined)
}

exports.hook_get_mx = function (next, hmail, domain) {
  const route = this.routes[domain.toLowerCase()]
  if (!route) return next() // DNS
  next(OK, route)
}
