// The shells and tools `quirectl prompt --shell` prints a snippet for: the command table declares them
// as the option's choices without loading the prompt command itself.
export const PROMPT_SHELLS = ["bash", "zsh", "fish", "sh", "tmux", "starship"] as const;
