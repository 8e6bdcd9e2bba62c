// Imported first by app.ts, before PostGraphile reads it: run Grafast in production mode unless
// told otherwise (and without its start-up notice about the variable being unset).
process.env.GRAPHILE_ENV ??= 'production';
