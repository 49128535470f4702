import { runRegister } from 'nest-gateway-worker';

// The same role as `npx gateway-worker register`: configured by REGISTER_LISTEN and SECRET_KEY (or
// INNER_PLAINTEXT=true); see README.md. SIGINT / SIGTERM: closes every link, then exits 0.
runRegister();
