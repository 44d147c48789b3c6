/** esbuild bundles imported style sheets into page.css; to the type checker they are empty modules. */
declare module "*.css";
