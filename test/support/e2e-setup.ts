// Cross-process tests wait for real processes to start; every wait inside them has its own bound.
jest.setTimeout(60_000);
