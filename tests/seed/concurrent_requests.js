// The seed document's gist (montanaflynn/cb349fd1...), unchanged but for where it sends its requests:
// `weft serve` on 127.0.0.1 instead of httpbin.org. Usage: node concurrent_requests.js PORT
var http = require('http')
var port = process.argv[2]

function concurrentRequests() {
  for (var i = 0; i < 5; i++) {
    var request = {
      hostname: '127.0.0.1',
      port: port,
      headers: {'request-id': i},
      path: '/delay/.'+  Math.floor(Math.random() * (5 - 1 + 1)) + 1
    }
    http.get(request, (res) => {
        var body = ''
        res.on('data', function (chunk) {
          body += chunk
        })
        res.on('end', function () {
          console.log(JSON.parse(body).headers['Request-Id'])
        })
    }).end()
  }
}

console.log("Running concurrent requests!")
concurrentRequests()
