// The request headers of a browser's page navigation (Chrome on Linux: client hints, Fetch metadata,
// a few analytics and preference cookies) with a bearer token added so that Portcullis allows it:
// 16 headers besides Host, about 1.6 KB. What the Envoy option comparisons send.

/** A browser's navigation with a bearer token added (so Portcullis allows it): 16 headers besides Host. */
export function browserHeaders(token: string): Record<string, string> {
  return {
    "user-agent":
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    accept:
      "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "accept-language": "en-GB,en;q=0.9,de;q=0.8",
    "accept-encoding": "gzip, deflate, br, zstd",
    "cache-control": "max-age=0",
    "sec-ch-ua": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "same-origin",
    "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
    referer: "https://app.example.com/dashboard/overview",
    cookie:
      "_ga=GA1.1.1234567890.1733500000; _ga_ABC123XYZ=GS1.1.1733500000.3.1.1733500400.0.0.0; theme=dark; " +
      "consent=necessary,analytics,preferences; _hjSessionUser_1234567=eyJpZCI6IjEyMzQ1Njc4LTkwYWItY2RlZi0xMjM0LTU2Nzg5MGFiY2RlZiIsImNyZWF0ZWQiOjE3MzM1MDAwMDAwMDB9",
    authorization: `Bearer ${token}`,
  };
}
