export { offlineCatalogue as catalogueFor } from '../../src/mapping/catalogue.ts';
