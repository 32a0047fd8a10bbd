// Starts Swagger UI on /docs (the page itself holds no script: the CSP allows none inline).
// SwaggerUIBundle comes from /docs/assets/swagger-ui-bundle.js, served by this server.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  deepLinking: true,
  layout: "BaseLayout",
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  showExtensions: true,
  showCommonExtensions: true,
});
