"""The agency's social-media policy at work: the gate and every policy area over a store."""
