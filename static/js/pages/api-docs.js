// /api/docs/: Swagger UI (vendored from npm) reading the page's OpenAPI document.
// A classic script, in a block of its own: the vendored bundle defines SwaggerUIBundle.

{
  const explorer = document.getElementById("api-explorer");
  if (explorer && typeof window.SwaggerUIBundle === "function") {
    window.SwaggerUIBundle({
      url: explorer.dataset.schemaUrl,
      domNode: explorer,
      deepLinking: true,
      // Same-origin requests carry the session cookie; "Try it out" then needs the CSRF header.
      requestInterceptor: (request) => {
        const csrf = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
        if (csrf) request.headers["X-CSRFToken"] = decodeURIComponent(csrf[1]);
        return request;
      },
    });
  }
}
