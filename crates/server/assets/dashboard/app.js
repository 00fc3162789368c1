// built by web/dashboard (npm run build)
